// Swagger UI for the kcguard demo API; settings come from the page's data- attributes (no inline script).
"use strict";
window.addEventListener("DOMContentLoaded", function () {
  var element = document.getElementById("swagger-ui");
  var ui = SwaggerUIBundle({
    url: element.dataset.specUrl,
    domNode: element,
    oauth2RedirectUrl: element.dataset.oauth2RedirectUrl,
    deepLinking: true,
    validatorUrl: null,
    tryItOutEnabled: true,
    persistAuthorization: false,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
  // Authorization code flow: the public client web_app with PKCE (S256); no secret in the page.
  ui.initOAuth({ usePkceWithAuthorizationCodeGrant: true });
  window.ui = ui;
});
