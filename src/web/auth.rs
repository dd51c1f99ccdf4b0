//! Who may use each route: the roles it admits and whether anonymous visitors may. Every
//! route is declared once with its permission (see `web::routes`); the table those
//! declarations make is what the access check in `web::gate` reads. A route missing from
//! the table is refused to everyone (fail closed).

use axum::http::Method;

use crate::access::{Account, Role};

/// When anonymous visitors may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anon {
    Never,
    Always,
    /// Only when the operator runs `serve --public` (aggregate figures, no vouchers, no files).
    IfPublic,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Perm {
    pub roles: &'static [Role],
    pub anon: Anon,
}

const ALL: &[Role] = &[Role::Admin, Role::Finance, Role::Auditor, Role::Manager];
/// Those who read the ledger: finance (operational), auditors (everything), managers.
const READERS: &[Role] = &[Role::Finance, Role::Auditor, Role::Manager];
const BOOKS: &[Role] = &[Role::Finance, Role::Auditor];

/// Anyone, signed in or not.
pub const OPEN: Perm = Perm {
    roles: &[],
    anon: Anon::Always,
};
/// Every signed-in account.
pub const SIGNED_IN: Perm = Perm {
    roles: ALL,
    anon: Anon::Never,
};
/// Every signed-in account, and anonymous visitors under `serve --public`.
pub const PUBLIC: Perm = Perm {
    roles: ALL,
    anon: Anon::IfPublic,
};
pub const READERS_ONLY: Perm = Perm {
    roles: READERS,
    anon: Anon::Never,
};
pub const BOOKS_ONLY: Perm = Perm {
    roles: BOOKS,
    anon: Anon::Never,
};
pub const FINANCE: Perm = Perm {
    roles: &[Role::Finance],
    anon: Anon::Never,
};
pub const AUDITOR: Perm = Perm {
    roles: &[Role::Auditor],
    anon: Anon::Never,
};
pub const ADMIN: Perm = Perm {
    roles: &[Role::Admin],
    anon: Anon::Never,
};

/// One route: method, path pattern (as the router has it), who may use it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutePerm {
    pub method: Method,
    pub path: String,
    pub perm: Perm,
}

/// Every route the server answers, with its permission.
#[derive(Debug, Clone, Default)]
pub struct Permissions {
    routes: Vec<RoutePerm>,
}

impl Permissions {
    pub fn new(routes: Vec<RoutePerm>) -> Permissions {
        Permissions { routes }
    }

    pub fn routes(&self) -> &[RoutePerm] {
        &self.routes
    }

    pub fn permission(&self, method: &Method, path: &str) -> Option<Perm> {
        // HEAD is GET without the body (load balancers' health checks use it).
        let method = if method == Method::HEAD {
            &Method::GET
        } else {
            method
        };
        self.routes
            .iter()
            .find(|r| r.method == method && r.path == path)
            .map(|r| r.perm)
    }

    /// Whether `account` (none: anonymous) may use a route.
    pub fn allowed(
        &self,
        method: &Method,
        path: &str,
        account: Option<&Account>,
        public: bool,
    ) -> bool {
        let Some(perm) = self.permission(method, path) else {
            return false;
        };
        match account {
            None => perm.anon == Anon::Always || (perm.anon == Anon::IfPublic && public),
            Some(a) => perm.anon == Anon::Always || perm.roles.contains(&a.role),
        }
    }
}
