// The docs page: Swagger UI (vendored under /static/swagger-ui/) on the mock's own spec.
// No validator badge: it would send the spec to a remote service.
window.ui = SwaggerUIBundle({
  url: "/openapi.yaml",
  dom_id: "#swagger-ui",
  validatorUrl: null,
  deepLinking: true,
  tryItOutEnabled: false,
  onComplete: () => document.body.setAttribute("data-ready", "true"),
});
