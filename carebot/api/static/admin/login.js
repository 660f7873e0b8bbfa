// Show the error the server redirected with (?error=…) without inline script (the CSP forbids it).
const error = new URLSearchParams(location.search).get("error");
if (error !== null) {
  const shown = document.getElementById("error");
  if (error === "no-shop") shown.textContent = "Your account doesn't work in any shop here yet. Ask a shop's admin to add you.";
  shown.hidden = false;
}
