//! Same target name as calc's integration test: binary ids must differ.

#[test]
fn adds() {
    assert_eq!(textutil::shout("x"), "X!");
}
