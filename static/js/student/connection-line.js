// The student page's connection line (#connection): its status, icon and words, and what a refusal lets the
// student do next (log in, reload, use this tab instead). The page decides what happened; this shows it.
import { CLOSE_CODES } from "../definitions.js";
import { icon } from "../states.js";

const CONNECTION_ICONS = { idle: "wifi-off", connecting: "hourglass", open: "wifi", lost: "wifi-off", refused: "ban" };
const CONSENT_RELOAD_KEY = "smartsession.consentReload";

export function link(href, text) {
  const a = document.createElement("a");
  a.href = href;
  a.textContent = text;
  return a;
}

// Reloads the page, unless it already did in the last 10 s (then false): not a loop if something is off.
export function reloadOnce() {
  try {
    const last = Number(sessionStorage.getItem(CONSENT_RELOAD_KEY) || 0);
    if (Date.now() - last < 10000) return false;
    sessionStorage.setItem(CONSENT_RELOAD_KEY, String(Date.now()));
  } catch {
    return false; // without storage a loop could not be told apart, so let the student reload
  }
  location.reload();
  return true;
}

export class ConnectionLine {
  constructor({ words, iconBox, loginUrl }) {
    Object.assign(this, { words, iconBox, loginUrl });
  }

  show(status, ...content) {
    document.body.dataset.connection = status;
    this.words.parentElement.dataset.status = status;
    this.iconBox.replaceChildren(icon(CONNECTION_ICONS[status]));
    this.words.replaceChildren(...content);
  }

  // The server's refusal, with what the student can do about it: `useThisTab()` when another tab took the class
  // over, a reload link when consent is missing and the page is not reloading by itself, a login link when logged
  // out.
  refused(code, text, { reloading, useThisTab }) {
    this.show("refused", text);
    if (code === "replaced" || code === `close_${CLOSE_CODES.replaced}`) {
      // Final, so two tabs never take turns; the student chooses which one streams.
      this.words.replaceChildren("This class is open in another tab or window, which sends your camera now. ",
        this.useThisTabButton(useThisTab));
    } else if (code === "consent_required" && !reloading) {
      this.words.append(" ", link(location.pathname, "Reload the page"));
    } else if (code === "not_authenticated" || code === `close_${CLOSE_CODES.not_authenticated}`) {
      const loginUrl = new URL(this.loginUrl, location.href);
      if (!loginUrl.searchParams.has("next")) loginUrl.searchParams.set("next", location.pathname);
      this.words.append(" ", link(loginUrl.href, "Log in"));
    }
  }

  useThisTabButton(useThisTab) {
    const button = document.createElement("button");
    button.type = "button";
    button.id = "use-this-tab";
    button.className = "secondary";
    button.textContent = "Use this tab instead";
    button.addEventListener("click", useThisTab);
    return button;
  }
}
