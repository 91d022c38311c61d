//! The demo's pages: home (login form and visit counter), cart, "your sessions", logout.

use actix_typed_session::{Session, SessionData, SessionError};
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use crate::html::{ago, browser, escape, page, redirect};

/// Longest user name the login form accepts, in bytes.
const MAX_USER_LEN: usize = 64;
/// Most items a cart holds: a session is no place for unbounded data.
const MAX_CART_ITEMS: usize = 20;
/// What the shop sells: (form value, label).
const PRODUCTS: [(&str, &str); 3] = [("tea", "Tea"), ("biscuits", "Biscuits"), ("jam", "Jam")];

/// Who is signed in, and how often they loaded the home page.
#[derive(SessionData)]
pub struct Account {
    /// The per-user index: every session of one user can be listed and ended together.
    #[session(index)]
    user: Option<String>,
    views: u64,
}

/// A second struct over the same session, stored as `cart.items`: it cannot clash with a
/// field of `Account`, and a guest's cart survives the login (a renewal keeps the data).
#[derive(SessionData)]
#[session(prefix = "cart.")]
pub struct Cart {
    items: Vec<String>,
}

/// `GET /`: counts the visit; shows the login form to a guest.
pub async fn home(mut account: Session<Account>, cart: Session<Cart>) -> HttpResponse {
    account.update_views(|views| *views += 1);
    let counter = format!(
        r#"  <p>Visits to this page in this session: <strong id="views">{}</strong></p>
  <p>Items in your <a href="/cart">cart</a>: <strong id="cart-count">{}</strong></p>"#,
        account.views(),
        cart.items().len()
    );
    let user = account.user().clone();
    match user {
        Some(user) => page(StatusCode::OK, "Home", Some(&user), &counter),
        None => page(
            StatusCode::OK,
            "Home",
            None,
            &format!("{}\n{counter}", login_form(None)),
        ),
    }
}

fn login_form(error: Option<&str>) -> String {
    let error = error
        .map(|e| format!(r#"  <p class="error">{}</p>"#, escape(e)))
        .unwrap_or_default();
    format!(
        r#"{error}
  <form method="post" action="/login" id="login">
    <label>Name <input name="user" required maxlength="{MAX_USER_LEN}" autofocus></label>
    <button>Log in</button>
  </form>
  <p>Any name logs in: this is a demo of sessions, not of passwords.</p>"#
    )
}

/// The login form's fields.
#[derive(Deserialize)]
pub struct Login {
    user: String,
}

/// `POST /login`: any name signs in, with a new session id.
pub async fn login(mut account: Session<Account>, form: web::Form<Login>) -> HttpResponse {
    let user = form.into_inner().user.trim().to_owned();
    if user.is_empty() || user.len() > MAX_USER_LEN {
        let error = format!("A name takes 1 to {MAX_USER_LEN} bytes.");
        return page(
            StatusCode::BAD_REQUEST,
            "Home",
            None,
            &login_form(Some(&error)),
        );
    }
    account.set_user(Some(user));
    // A new id on every privilege change: an id planted before the login is worthless.
    account.renew();
    redirect("/")
}

/// `POST /logout`: ends this session (the record and the cookie).
pub async fn logout(mut account: Session<Account>) -> HttpResponse {
    account.purge();
    redirect("/")
}

/// `GET /cart`: the items, and a form to add one.
pub async fn cart(account: Session<Account>, cart: Session<Cart>) -> HttpResponse {
    let items: String = cart
        .items()
        .iter()
        .map(|item| format!("    <li>{}</li>\n", escape(label(item))))
        .collect();
    let items = if items.is_empty() {
        r#"  <p id="empty">Your cart is empty.</p>"#.to_owned()
    } else {
        format!("  <ul id=\"items\">\n{items}  </ul>")
    };
    let options: String = PRODUCTS
        .iter()
        .map(|(value, label)| format!(r#"<option value="{value}">{label}</option>"#))
        .collect();
    let body = format!(
        r#"{items}
  <form method="post" action="/cart" id="add">
    <select name="product">{options}</select>
    <button>Add to cart</button>
  </form>
  <form method="post" action="/cart/clear"><button>Empty the cart</button></form>"#
    );
    page(StatusCode::OK, "Cart", account.user().as_deref(), &body)
}

/// What a product is called on the page; stored items are always known products.
fn label(item: &str) -> &str {
    PRODUCTS
        .iter()
        .find(|(value, _)| *value == item)
        .map_or(item, |(_, label)| label)
}

/// The add-to-cart form's field.
#[derive(Deserialize)]
pub struct AddItem {
    product: String,
}

/// `POST /cart`: adds a known product.
pub async fn add_to_cart(mut cart: Session<Cart>, form: web::Form<AddItem>) -> HttpResponse {
    let product = form.into_inner().product;
    if !PRODUCTS.iter().any(|(value, _)| *value == product) {
        return HttpResponse::BadRequest().body("no such product");
    }
    if cart.items().len() >= MAX_CART_ITEMS {
        return HttpResponse::BadRequest().body("the cart is full");
    }
    cart.update_items(|items| items.push(product));
    redirect("/cart")
}

/// `POST /cart/clear`: empties the cart.
pub async fn clear_cart(mut cart: Session<Cart>) -> HttpResponse {
    cart.set_items(Vec::new());
    redirect("/cart")
}

/// What `/sessions` says after "sign out everywhere else".
#[derive(Deserialize)]
pub struct Ended {
    ended: Option<usize>,
}

/// `GET /sessions`: the signed-in user's live sessions: browser, signed in, last active,
/// and a fingerprint (never the id).
pub async fn sessions(
    account: Session<Account>,
    query: web::Query<Ended>,
) -> Result<HttpResponse, SessionError> {
    let Some(user) = account.user().clone() else {
        return Ok(redirect("/"));
    };
    let listed = account.sessions().await?;
    let rows: String = listed
        .iter()
        .map(|info| {
            let (class, note) = if info.is_current() {
                (r#" class="current""#, " (this browser)")
            } else {
                ("", "")
            };
            let browser = info
                .user_agent()
                .map_or("Unknown browser".to_owned(), browser);
            format!(
                "    <li{class}><span class=\"browser\">{}</span>, signed in \
                 <span class=\"created\">{}</span>, last active \
                 <span class=\"active\">{}</span> <code>{}</code>{note}</li>\n",
                escape(&browser),
                info.created_at()
                    .map_or("at an unknown time".to_owned(), ago),
                info.last_active()
                    .map_or("at an unknown time".to_owned(), ago),
                info.fingerprint()
            )
        })
        .collect();
    let note = match query.ended {
        Some(ended) => {
            format!(r#"  <p class="note" id="ended">Signed out {ended} other session(s).</p>"#)
        }
        None => String::new(),
    };
    let body = format!(
        r#"{note}
  <p>Every browser where <strong>{}</strong> is signed in: the browser it signed in from,
  when, and when it was last used. The code is a fingerprint of the session id: enough to
  tell sessions apart, useless for taking one over.</p>
  <ul id="sessions">
{rows}  </ul>
  <form method="post" action="/sessions/end-others">
    <button id="end-others">Sign out everywhere else</button>
  </form>"#,
        escape(&user)
    );
    Ok(page(StatusCode::OK, "Your sessions", Some(&user), &body))
}

/// `POST /sessions/end-others`: ends every other session of the user; this one goes on.
pub async fn end_others(account: Session<Account>) -> Result<HttpResponse, SessionError> {
    if account.user().is_none() {
        return Ok(redirect("/"));
    }
    let ended = account.end_other_sessions().await?;
    Ok(redirect(&format!("/sessions?ended={ended}")))
}
