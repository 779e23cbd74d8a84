// Shows the reason of a refused sign-in (/login?error=...) as text, never as HTML.
const params = new URLSearchParams(window.location.search);
const error = params.get("error");
if (error) {
  const box = document.getElementById("error");
  box.textContent = error;
  box.hidden = false;
}
