//! The sample model repository's real buildspec.yml, built against a moto server with the
//! project's `.venv` (python3 for the unit tests, the AWS CLI for the uploads).

mod common;

use std::path::Path;
use std::time::Duration;

use common::{TempDir, position};
use local_codebuild::{BuildRequest, BuildStatus, Buildspec, Phase};

const BUCKET: &str = "sagemaker-cicd-artifacts";
const COMMIT: &str = "9f2c1e4b7a1d2c3e4f5a6b7c8d9e0f1a2b3c4d5e";

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let name = entry.file_name();
        if name == "__pycache__" {
            continue;
        }
        let kind = entry.file_type().expect("file type");
        if kind.is_dir() {
            copy_dir(&entry.path(), &to.join(&name));
        } else if kind.is_file() {
            std::fs::copy(entry.path(), to.join(&name)).expect("copy");
        }
    }
}

#[tokio::test]
async fn the_sample_repository_builds_uploads_and_exports_source_dir_uri() {
    let root = test_support::workspace_root();
    let moto = test_support::MotoServer::start();
    let s3 = moto.s3_client();
    s3.create_bucket()
        .bucket(BUCKET)
        .send()
        .await
        .expect("create bucket");

    // The build writes sourcedir.tar.gz into its source directory: build a copy.
    let dir = TempDir::new("sample");
    let source = dir.path().join("model-repo");
    copy_dir(&root.join("examples/model-repo"), &source);
    let buildspec = Buildspec::load(&source.join("buildspec.yml")).expect("buildspec");
    let request = BuildRequest {
        project_name: "sagemaker-cicd-build".into(),
        source_dir: source.clone(),
        buildspec,
        environment: vec![
            ("ARTIFACT_BUCKET".into(), BUCKET.into()),
            ("COMMIT_ID".into(), COMMIT.into()),
            ("AWS_ENDPOINT_URL_S3".into(), moto.endpoint_url()),
            ("AWS_ACCESS_KEY_ID".into(), "testing".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "testing".into()),
        ],
        resolved_source_version: COMMIT.into(),
        initiator: "codepipeline/sagemaker-cicd-pipeline".into(),
        region: test_support::REGION.into(),
        account_id: "123456789012".into(),
        timeout: Duration::from_secs(600),
        path_prefix: vec![root.join(".venv/bin")],
    };
    let (outcome, lines) = common::run(request).await;
    assert_eq!(
        outcome.status,
        BuildStatus::Succeeded,
        "log:\n{}",
        lines.join("\n")
    );
    let source_dir_uri = format!("s3://{BUCKET}/source/{COMMIT}/sourcedir.tar.gz");
    assert_eq!(
        outcome.exported.get("SOURCE_DIR_URI"),
        Some(&source_dir_uri)
    );
    assert_eq!(outcome.exported.len(), 1);
    assert_eq!(
        outcome.phases.iter().map(|p| p.phase).collect::<Vec<_>>(),
        Phase::ALL.to_vec()
    );

    // The unit tests ran (unittest reports on stderr) before the upload.
    let tests_ok = lines
        .iter()
        .position(|l| l == "OK")
        .unwrap_or_else(|| panic!("no unittest OK line:\n{}", lines.join("\n")));
    let upload = position(&lines, "Running command aws s3 cp sourcedir.tar.gz");
    assert!(tests_ok < upload);

    let listed = s3
        .list_objects_v2()
        .bucket(BUCKET)
        .send()
        .await
        .expect("list objects");
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    for want in [
        format!("source/{COMMIT}/sourcedir.tar.gz"),
        format!("data/{COMMIT}/train/train.csv"),
        format!("data/{COMMIT}/validation/validation.csv"),
        format!("data/{COMMIT}/test/test.csv"),
    ] {
        assert!(keys.contains(&want.as_str()), "{want} not in {keys:?}");
    }
    let uploaded = s3
        .get_object()
        .bucket(BUCKET)
        .key(format!("source/{COMMIT}/sourcedir.tar.gz"))
        .send()
        .await
        .expect("get sourcedir.tar.gz")
        .body
        .collect()
        .await
        .expect("read body")
        .into_bytes();
    let local = std::fs::read(source.join("sourcedir.tar.gz")).expect("local archive");
    assert_eq!(uploaded.as_ref(), local.as_slice());
    // gzip magic: the CLI uploaded the archive itself.
    assert_eq!(&uploaded[..2], &[0x1f, 0x8b]);
}
