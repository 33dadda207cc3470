//! An integration test binary: names repeat across binaries and packages.

#[test]
fn adds() {
    assert_eq!(calc::add(3, 4), 7);
}

#[test]
fn reads_a_file_relative_to_the_package() {
    // cargo runs tests in the package directory
    let manifest = std::fs::read_to_string("Cargo.toml").expect("run in calc/");
    assert!(manifest.contains("name = \"calc\""));
    assert_eq!(std::env::var("CARGO_PKG_NAME").as_deref(), Ok("calc"));
}
