// Show the error the server redirected with (?error=1) without inline script (the CSP forbids it).
if (new URLSearchParams(location.search).has("error")) document.getElementById("error").hidden = false;
