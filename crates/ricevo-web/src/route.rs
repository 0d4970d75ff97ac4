//! One `/api/v1` route as the router mounts it and the OpenAPI document lists it.

use crate::state::AppState;

/// One `/api/v1` route: method, path and handler. The router is built from a list of these
/// ([`crate::api_routes`]) and a test holds the OpenAPI document to the same list, so no route
/// can be served without being documented.
#[derive(Debug)]
pub struct ApiRoute {
    /// The HTTP method.
    pub method: axum::http::Method,
    /// The path, in the `{param}` syntax axum and OpenAPI share.
    pub path: &'static str,
    service: axum::routing::MethodRouter<AppState>,
}

impl ApiRoute {
    /// A route answering `method` on `path` with `handler`.
    pub(crate) fn new<H, T>(method: axum::http::Method, path: &'static str, handler: H) -> ApiRoute
    where
        H: axum::handler::Handler<T, AppState>,
        T: 'static,
    {
        // The method and the handler's filter come from one value, so they cannot disagree.
        let filter = axum::routing::MethodFilter::try_from(method.clone()).expect("a standard HTTP method");
        ApiRoute { method, path, service: axum::routing::on(filter, handler) }
    }

    /// Adds this route to a router.
    pub(crate) fn mount(self, router: axum::Router<AppState>) -> axum::Router<AppState> {
        router.route(self.path, self.service)
    }
}
