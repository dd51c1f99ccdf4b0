//! Each route declared once: its path, its handlers, its OpenAPI operation (for the API,
//! taken from the handler's `#[utoipa::path]`) and who may use it, side by side. The router,
//! the API document and the permission table are all made from these declarations, so none
//! of them can name a route the others lack.

use axum::http::Method;
use axum::routing::MethodRouter;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};

use super::auth::{Perm, Permissions, RoutePerm};
use super::state::AppState;

/// Routes being declared: the router with its API document, and each route's permission.
pub struct Routes {
    router: OpenApiRouter<AppState>,
    perms: Vec<RoutePerm>,
}

impl Default for Routes {
    fn default() -> Self {
        Routes::new()
    }
}

impl Routes {
    pub fn new() -> Routes {
        Routes {
            router: OpenApiRouter::new(),
            perms: Vec::new(),
        }
    }

    /// A page or a file (not part of the API document): one method, with its handler.
    pub fn page(
        mut self,
        method: Method,
        path: &str,
        perm: Perm,
        handler: MethodRouter<AppState>,
    ) -> Routes {
        self.perms.push(RoutePerm {
            method,
            path: path.to_string(),
            perm,
        });
        self.router = self.router.route(path, handler);
        self
    }

    /// API operations (`routes!(handler, ...)`): their paths and methods are the ones their
    /// `#[utoipa::path]` documents.
    pub fn api(mut self, perm: Perm, ops: UtoipaMethodRouter<AppState>) -> Routes {
        for (path, item) in ops.1.paths.iter() {
            let methods = [
                (Method::GET, item.get.is_some()),
                (Method::POST, item.post.is_some()),
                (Method::PUT, item.put.is_some()),
                (Method::DELETE, item.delete.is_some()),
                (Method::PATCH, item.patch.is_some()),
            ];
            for (method, documented) in methods {
                if documented {
                    self.perms.push(RoutePerm {
                        method,
                        path: path.clone(),
                        perm,
                    });
                }
            }
        }
        self.router = self.router.routes(ops);
        self
    }

    /// Adds the routes of a feature.
    pub fn merge(mut self, other: Routes) -> Routes {
        self.router = self.router.merge(other.router);
        self.perms.extend(other.perms);
        self
    }

    /// The router, the API document and the permission table.
    pub fn split(
        self,
        doc: utoipa::openapi::OpenApi,
    ) -> (
        axum::Router<AppState>,
        utoipa::openapi::OpenApi,
        Permissions,
    ) {
        let (router, api) = OpenApiRouter::with_openapi(doc)
            .merge(self.router)
            .split_for_parts();
        (router, api, Permissions::new(self.perms))
    }
}
