// What the server defines once and hands every page (classroom/states.py, rendered by base.html with
// json_script): the states with their words and icons, the WebSocket close codes, and the smile over a student's
// resting face at which they read as happy.
const source = document.getElementById("smartsession-definitions");
const definitions = source
  ? JSON.parse(source.textContent)
  : { states: {}, closeCodes: {}, refusals: [] };

export const STATES = definitions.states;
export const CLOSE_CODES = definitions.closeCodes;
// The close codes after which a page does not reconnect: the person has to do something first.
export const REFUSAL_CLOSE_CODES = new Set(definitions.refusals.map((name) => CLOSE_CODES[name]));
export const SMILE_RISE_HAPPY = definitions.smileRiseHappy;
