//! Text helpers with doctests (one failing) and unit tests.

/// Shouts.
///
/// ```
/// assert_eq!(textutil::shout("hi"), "HI!");
/// ```
pub fn shout(text: &str) -> String {
    format!("{}!", text.to_uppercase())
}

/// Whispers. The doctest below is wrong on purpose.
///
/// ```
/// assert_eq!(textutil::whisper("HI"), "HI");
/// ```
pub fn whisper(text: &str) -> String {
    text.to_lowercase()
}

/// Not run.
///
/// ```ignore
/// this is not rust
/// ```
pub fn nothing() {}

#[cfg(test)]
mod tests {
    #[test]
    fn shouts() {
        assert_eq!(super::shout("a"), "A!");
    }
}
