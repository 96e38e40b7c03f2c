// What the server put in the class page for its scripts (classroom/views.py student_class, json_script).
export const config = JSON.parse(document.getElementById("student-config").textContent);
