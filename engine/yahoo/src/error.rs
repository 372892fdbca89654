//! Why an answer from Yahoo is not data. Every variant says what the answer was, so the log
//! tells an operator whether to wait (an outage page), act (a consent wall) or report a
//! layout change.

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParseError {
    #[error("not JSON ({0}); Yahoo answered with something else, likely an error page")]
    NotJson(String),
    #[error("Yahoo reported an error: {code}: {description}")]
    Yahoo { code: String, description: String },
    #[error("the answer has no `{0}`; Yahoo may have changed the format")]
    Missing(&'static str),
    #[error("Yahoo's \"will be right back\" error page (an outage or a block); retry later")]
    OutagePage,
    #[error(
        "Yahoo's consent page (EU cookie consent); the quote page cannot be read without \
         consenting: use `endpoint = chart`, which needs no cookies"
    )]
    ConsentPage,
    #[error("the quote page for {0} has no price in any known layout")]
    NoPrice(String),
}
