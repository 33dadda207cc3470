//! calc's binary: its own test binary, with a test name also used in the lib.

fn main() {
    println!("{}", calc::add(1, 2));
}

#[cfg(test)]
mod tests {
    #[test]
    fn adds() {
        assert_eq!(calc::add(1, 2), 3);
    }
}
