//! The README's deployment.json example is a file the deploy function accepts.

#[test]
fn the_readmes_example_loads() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let section = readme
        .split("### deployment.json")
        .nth(1)
        .expect("README.md has a deployment.json section");
    let example = section
        .split("```json\n")
        .nth(1)
        .and_then(|s| s.split("\n```").next())
        .expect("the section starts with a JSON example");
    let deployment = deploy::config::load("README.md", example, |file| {
        (file == "tests/smoke/penguins.csv").then_some(200)
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let production = deployment
        .production
        .expect("the example deploys to production");
    assert_eq!(production.variant.instances(), 2);
    assert!(deployment.staging.variant.serverless().is_some());
}
