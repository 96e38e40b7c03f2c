// The class sheet's Print button: shown only with JavaScript, since without it the browser's own menu prints.
const button = document.getElementById("print-sheet");
if (button) {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
}
