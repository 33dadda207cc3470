//! A tiny calculator: unit tests with every libtest outcome. Tests that
//! crash, hang or flake only do so when asked through the environment:
//! TSR_EXAMPLE_CRASH=1 (abort), TSR_EXAMPLE_HANG=1 (sleep an hour),
//! TSR_EXAMPLE_FLAKY_DIR=D (fail on the first run, pass after).

/// Adds two numbers (no doctest here: doctests live in textutil).
pub fn add(a: i64, b: i64) -> i64 {
    a + b
}

/// Divides, panicking on zero.
pub fn div(a: i64, b: i64) -> i64 {
    if b == 0 {
        panic!("division by zero");
    }
    a / b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds() {
        assert_eq!(add(2, 2), 4);
    }

    #[test]
    fn fails() {
        assert_eq!(add(2, 2), 5, "arithmetic is broken");
    }

    #[test]
    #[ignore = "too slow for every run"]
    fn ignored() {}

    #[test]
    #[should_panic(expected = "division by zero")]
    fn divides_by_zero() {
        div(1, 0);
    }

    #[test]
    fn slow() {
        std::thread::sleep(std::time::Duration::from_millis(200));
    }

    /// Sorts just before `crash`: with libtest threads, it is still running
    /// when `crash` kills the binary.
    #[test]
    fn beside_crash() {
        std::thread::sleep(std::time::Duration::from_millis(300));
    }

    #[test]
    fn crash() {
        if std::env::var("TSR_EXAMPLE_CRASH").as_deref() == Ok("1") {
            std::process::abort();
        }
    }

    #[test]
    fn hang() {
        if std::env::var("TSR_EXAMPLE_HANG").as_deref() == Ok("1") {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }

    #[test]
    fn flaky() {
        if let Ok(dir) = std::env::var("TSR_EXAMPLE_FLAKY_DIR") {
            let marker = std::path::Path::new(&dir).join("tsr-example-flaky-cargo");
            if !marker.exists() {
                std::fs::write(&marker, b"").unwrap();
                panic!("first run fails");
            }
        }
    }

    mod nested {
        #[test]
        fn adds() {
            assert_eq!(super::super::add(1, 1), 2);
        }
    }
}
