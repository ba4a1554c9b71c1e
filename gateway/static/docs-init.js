// The API docs page's start-up, as a file of its own so that the page's Content-Security-Policy
// can forbid inline scripts. persistAuthorization stays false: a token typed in here lives only
// as long as the page, never in the browser's local storage, where any script could read it.
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "StandaloneLayout",
  persistAuthorization: false,
  withCredentials: false,
  queryConfigEnabled: false,
  validatorUrl: null
});
