//! The browser pages the switch serves, embedded in the binary (DESIGN.md:
//! `src/web/` holds static pages and vendored browser libraries, nothing of
//! ours), so running the switch needs no build step, no files beside the
//! binary and no network.
//!
//! Each page is a [`Page`]: a URL base and its files (plain HTML, scripts
//! and style sheets, no framework, no build step). [`PAGES`] lists them:
//! the shared client and style of the desktops, `shared/` at `/web/`; the
//! softphone (issue 12 item 3), `softphone/`, on the vendored JsSIP
//! bundle `vendor/jssip-<version>.min.js` (MIT; provenance, integrity and
//! the refresh command in `vendor/README.md`, refreshed from the npm
//! registry by `vendor/refresh-jssip.sh`); the supervisor dashboard,
//! `supervisor/` at `/supervisor/`. The HTTP routes that serve
//! these files live in `crate::api::pages` ([`PAGES`] is all they need).

/// The vendored JsSIP version; `vendor/refresh-jssip.sh` rewrites it.
macro_rules! jssip_version {
    () => {
        "3.13.8"
    };
}

/// The vendored JsSIP version (the bundle's file name and `vendor/README.md`
/// name the same one; a unit test checks).
pub const JSSIP_VERSION: &str = jssip_version!();

/// The softphone's URL path, where the HTTP API serves its [`Asset`]s.
pub const SOFTPHONE_PATH: &str = "/softphone/";

/// What kind of file an asset is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An HTML page.
    Html,
    /// A classic script.
    JavaScript,
    /// A style sheet.
    Css,
}

impl Kind {
    /// The `Content-Type` to serve it with.
    pub fn content_type(self) -> &'static str {
        match self {
            Kind::Html => "text/html; charset=utf-8",
            Kind::JavaScript => "text/javascript; charset=utf-8",
            Kind::Css => "text/css; charset=utf-8",
        }
    }
}

/// How long a browser may keep an asset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caching {
    /// Revalidate every time: our own files change with the switch.
    Revalidate,
    /// Never changes under this name (the version is in it): a year.
    Immutable,
}

impl Caching {
    /// The `Cache-Control` value.
    pub fn cache_control(self) -> &'static str {
        match self {
            Caching::Revalidate => "no-cache",
            Caching::Immutable => "public, max-age=31536000, immutable",
        }
    }
}

/// One embedded file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Asset {
    /// Its path under its page's base (`""` is the page itself).
    pub path: &'static str,
    /// What it is.
    pub kind: Kind,
    /// How long browsers may keep it.
    pub caching: Caching,
    /// Its bytes.
    pub body: &'static str,
}

impl Asset {
    /// One of our own files (revalidated on every load: it changes with
    /// the switch).
    pub const fn ours(path: &'static str, kind: Kind, body: &'static str) -> Asset {
        Asset {
            path,
            kind,
            caching: Caching::Revalidate,
            body,
        }
    }
}

/// The softphone page.
pub const SOFTPHONE_HTML: &str = include_str!("softphone/index.html");
/// The softphone's script.
pub const SOFTPHONE_JS: &str = include_str!("softphone/softphone.js");
/// The softphone's style sheet.
pub const SOFTPHONE_CSS: &str = include_str!("softphone/softphone.css");
/// The vendored JsSIP bundle (one minified IIFE defining the global `JsSIP`).
pub const JSSIP_JS: &str = include_str!(concat!("vendor/jssip-", jssip_version!(), ".min.js"));
/// The vendored bundle's path under [`SOFTPHONE_PATH`].
pub const JSSIP_PATH: &str = concat!("vendor/jssip-", jssip_version!(), ".min.js");
/// JsSIP's licence, as shipped in its npm package.
pub const JSSIP_LICENSE: &str = include_str!("vendor/JSSIP-LICENSE.md");
/// The licences of the packages bundled with JsSIP (debug, ms, events,
/// sdp-transform).
pub const THIRD_PARTY_LICENSES: &str = include_str!("vendor/THIRD-PARTY-LICENSES");

/// Every file served under [`SOFTPHONE_PATH`].
pub const SOFTPHONE_ASSETS: &[Asset] = &[
    Asset::ours("", Kind::Html, SOFTPHONE_HTML),
    Asset::ours("softphone.js", Kind::JavaScript, SOFTPHONE_JS),
    Asset::ours("softphone.css", Kind::Css, SOFTPHONE_CSS),
    Asset {
        path: JSSIP_PATH,
        kind: Kind::JavaScript,
        caching: Caching::Immutable,
        body: JSSIP_JS,
    },
];

/// One page the switch serves: a URL base and the files under it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    /// Its URL path, ending in `/` (`/softphone/`); the same path without
    /// the slash redirects to it.
    pub base: &'static str,
    /// Its files, each at `base` + [`Asset::path`].
    pub assets: &'static [Asset],
}

impl Page {
    /// The page's file at `path` (relative to [`Page::base`]; `""` or
    /// `index.html` is the page), if there is one.
    pub fn asset(&self, path: &str) -> Option<&'static Asset> {
        let path = if path == "index.html" { "" } else { path };
        self.assets.iter().find(|a| a.path == path)
    }
}

/// The softphone (issue 12 item 3).
pub const SOFTPHONE: Page = Page {
    base: SOFTPHONE_PATH,
    assets: SOFTPHONE_ASSETS,
};

/// The pages' shared files at `/web/` (issue 13): the desktop API client
/// `client.js` (requests, the reconnecting event stream, safe DOM
/// building) and the base style sheet `base.css`, which the agent desktop
/// and the supervisor dashboard load by absolute path; `/web/` itself is an
/// index of the pages.
pub const SHARED: Page = Page {
    base: "/web/",
    assets: &[
        Asset::ours("", Kind::Html, include_str!("shared/index.html")),
        Asset::ours("client.js", Kind::JavaScript, include_str!("shared/client.js")),
        Asset::ours("base.css", Kind::Css, include_str!("shared/base.css")),
    ],
};

/// The agent desktop (issue 13 item 1): the page, its script and style,
/// on `/web/client.js` and `/web/base.css`; its built-in phone is the
/// softphone's script and JsSIP bundle, loaded from `/softphone/`.
pub const DESK: Page = Page {
    base: "/desk/",
    assets: &[
        Asset::ours("", Kind::Html, include_str!("desk/index.html")),
        Asset::ours("desk.js", Kind::JavaScript, include_str!("desk/desk.js")),
        Asset::ours("desk.css", Kind::Css, include_str!("desk/desk.css")),
    ],
};

/// The supervisor dashboard (issue 13 item 2; SUP-1..SUP-6) at
/// `/supervisor/`, beside the supervisor API's routes: live queue tiles,
/// agents and interactions, forced states, monitor, whisper, barge and
/// force close. Its files' names (`supervisor.js`, `supervisor.css`) are
/// not API routes.
pub const SUPERVISOR: Page = Page {
    base: "/supervisor/",
    assets: &[
        Asset::ours("", Kind::Html, include_str!("supervisor/index.html")),
        Asset::ours(
            "supervisor.js",
            Kind::JavaScript,
            include_str!("supervisor/supervisor.js"),
        ),
        Asset::ours("supervisor.css", Kind::Css, include_str!("supervisor/supervisor.css")),
    ],
};

/// Every page the switch serves.
pub const PAGES: &[Page] = &[SOFTPHONE, SHARED, DESK, SUPERVISOR];

/// The `Content-Security-Policy` of every page's responses: only the
/// switch's own scripts and style sheets (no inline script or style, no
/// eval), the API and SIP over `ws:`/`wss:` to any host (the switch's SIP
/// WebSocket listener is on another port than the pages), remote audio
/// from WebRTC, no frames, no plugins, forms only to itself.
pub const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    connect-src 'self' ws: wss:; media-src 'self' blob: mediastream:; img-src 'self' data:; \
    base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_files_are_not_empty() {
        for page in PAGES {
            for a in page.assets {
                assert!(!a.body.trim().is_empty(), "{}{} is empty", page.base, a.path);
            }
        }
        assert!(JSSIP_LICENSE.contains("MIT"), "JsSIP's licence");
        for pkg in ["debug@", "ms@", "events@", "sdp-transform@"] {
            assert!(THIRD_PARTY_LICENSES.contains(pkg), "licence of {pkg}");
        }
    }

    #[test]
    fn vendored_readme_names_the_version_of_the_file() {
        let readme = include_str!("vendor/README.md");
        assert!(
            readme.contains(&format!("- Version: `{JSSIP_VERSION}`")),
            "vendor/README.md names another version than {JSSIP_VERSION}"
        );
        assert!(readme.contains(&format!("jssip-{JSSIP_VERSION}.min.js")));
        assert!(readme.contains(&format!("jssip/-/jssip-{JSSIP_VERSION}.tgz")));
        assert!(readme.contains("- Integrity: `sha512-"));
        // The bundle says which version it is, and the page loads that file.
        assert!(JSSIP_JS.contains(&format!("version:\"{JSSIP_VERSION}\"")));
        assert!(JSSIP_JS.starts_with(&format!("/*! JsSIP {JSSIP_VERSION} ")));
        assert!(SOFTPHONE_HTML.contains(&format!("src=\"{JSSIP_PATH}\"")));
        // The desk's built-in phone loads the same bundle from /softphone/.
        let desk = DESK.asset("").map(|a| a.body).unwrap_or_default();
        assert!(desk.contains(&format!("src=\"{SOFTPHONE_PATH}{JSSIP_PATH}\"")));
    }

    #[test]
    fn assets_by_path() {
        assert_eq!(SOFTPHONE.asset("").map(|a| a.kind), Some(Kind::Html));
        assert_eq!(SOFTPHONE.asset("index.html").map(|a| a.kind), Some(Kind::Html));
        assert_eq!(SOFTPHONE.asset("softphone.js").map(|a| a.kind), Some(Kind::JavaScript));
        assert_eq!(SOFTPHONE.asset(JSSIP_PATH).map(|a| a.caching), Some(Caching::Immutable));
        assert_eq!(SOFTPHONE.asset("vendor/README.md"), None);
        assert_eq!(SOFTPHONE.asset("../Cargo.toml"), None);
    }

    #[test]
    fn every_page_keeps_to_its_csp() {
        for page in PAGES {
            for html in page.assets.iter().filter(|a| a.kind == Kind::Html) {
                let (base, html) = (page.base, html.body);
                // No inline script or style: the CSP allows only 'self' files.
                assert!(!html.contains("<style"), "{base}: <style>");
                assert!(!html.contains(" style="), "{base}: style=");
                let handler = html.split(" on").skip(1).find(|rest| {
                    let name: String = rest.chars().take_while(char::is_ascii_lowercase).collect();
                    !name.is_empty() && rest[name.len()..].starts_with('=')
                });
                assert_eq!(handler, None, "{base}: inline event handler");
                for tag in html.split("<script").skip(1) {
                    assert!(
                        tag.trim_start().starts_with("src="),
                        "{base}: inline script: <script{tag}"
                    );
                }
            }
        }
    }

    #[test]
    fn pages_have_distinct_bases_ending_in_a_slash_and_a_page() {
        for (i, page) in PAGES.iter().enumerate() {
            assert!(page.base.starts_with('/') && page.base.ends_with('/'), "{}", page.base);
            assert!(page.asset("").is_some(), "{} has no page", page.base);
            assert!(PAGES[..i].iter().all(|p| p.base != page.base), "{} twice", page.base);
        }
    }
}
