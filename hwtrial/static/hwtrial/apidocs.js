// Swagger UI's initializer for /api/v1/docs. A file, not an inline script, so that a
// `script-src 'self'` Content-Security-Policy allows it; the document's URL comes from the page.
window.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.ui = window.SwaggerUIBundle({
    url: root.dataset.specUrl,
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    validatorUrl: null // no calls to an outside validator
  });
});
