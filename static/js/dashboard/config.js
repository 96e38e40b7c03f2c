// What the server put in the page for the dashboard (classroom/views.py, json_script "dashboard-config").
export const config = JSON.parse(document.getElementById("dashboard-config").textContent);
export const timeZone = config.classroom.timeZone;
