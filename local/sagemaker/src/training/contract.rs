//! The SageMaker training contract a job's process sees: its command line and the `SM_*`
//! variables that script-mode scripts read, as the SageMaker training toolkit of the
//! framework images sets them.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use sagemaker_requests::CreateTrainingJobRequest;
use serde_json::{Value, json};

use super::layout::{self, HOST, JobDirs};
use crate::images::{Entrypoint, OPT_ML_PLACEHOLDER};

/// Hyperparameters with this prefix configure the toolkit; the script gets the others.
const RESERVED_PREFIX: &str = "sagemaker_";

/// The `sagemaker_program` and `sagemaker_submit_directory` hyperparameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptMode {
    pub program: String,
    pub submit_directory: Option<String>,
}

/// The SageMaker Python SDK sends hyperparameters JSON-encoded (`"\"train.py\""`); users of
/// the plain API write them as they are. The toolkit decodes both alike.
fn decoded(value: &str) -> Value {
    serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()))
}

/// A hyperparameter as text: a JSON string loses its quotes, anything else stays.
fn plain(value: &str) -> String {
    match decoded(value) {
        Value::String(text) => text,
        _ => value.to_owned(),
    }
}

pub fn script_mode(hyperparameters: &HashMap<String, String>) -> Option<ScriptMode> {
    let program = hyperparameters.get("sagemaker_program").map(|p| plain(p))?;
    let submit_directory = hyperparameters
        .get("sagemaker_submit_directory")
        .map(|d| plain(d));
    Some(ScriptMode {
        program,
        submit_directory,
    })
}

/// The hyperparameters the script gets, sorted by name.
pub fn user_hyperparameters(hyperparameters: &HashMap<String, String>) -> BTreeMap<&str, &str> {
    hyperparameters
        .iter()
        .filter(|(name, _)| !name.starts_with(RESERVED_PREFIX))
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect()
}

/// `--name value` for each user hyperparameter, as the toolkit passes them to the script.
pub fn user_args(hyperparameters: &HashMap<String, String>) -> Vec<String> {
    user_hyperparameters(hyperparameters)
        .into_iter()
        .flat_map(|(name, value)| [format!("--{name}"), plain(value)])
        .collect()
}

/// The process to start: its argv and working directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub argv: Vec<String>,
    pub cwd: PathBuf,
}

impl Invocation {
    /// As the failure reason quotes it.
    pub fn display(&self) -> String {
        self.argv.join(" ")
    }
}

/// Script mode runs `<entrypoint> <program> <args>` in `code/`; other images run
/// `<entrypoint> train` in the job's `/opt/ml`, as `docker run <image> train` would.
pub fn invocation(
    entrypoint: &Entrypoint,
    script: Option<&ScriptMode>,
    request: &CreateTrainingJobRequest,
    dirs: &JobDirs,
) -> Invocation {
    let opt_ml = dirs.ml().display().to_string();
    let mut argv: Vec<String> = entrypoint
        .command
        .iter()
        .map(|arg| arg.replace(OPT_ML_PLACEHOLDER, &opt_ml))
        .collect();
    match script {
        Some(script) => {
            argv.push(script.program.clone());
            if let Some(hyperparameters) = &request.hyper_parameters {
                argv.extend(user_args(hyperparameters));
            }
            Invocation {
                argv,
                cwd: dirs.code(),
            }
        }
        None => {
            argv.push("train".to_owned());
            Invocation {
                argv,
                cwd: dirs.ml().to_owned(),
            }
        }
    }
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// `SM_*` and the other variables a training container has.
pub fn environment(
    request: &CreateTrainingJobRequest,
    job_name: &str,
    job_arn: &str,
    dirs: &JobDirs,
    script: Option<&ScriptMode>,
) -> Vec<(String, String)> {
    let empty = HashMap::new();
    let hyperparameters = request.hyper_parameters.as_ref().unwrap_or(&empty);
    let user = user_hyperparameters(hyperparameters);
    let decoded_hps: BTreeMap<&str, Value> = user
        .iter()
        .map(|(name, value)| (*name, decoded(value)))
        .collect();
    let mut channels: Vec<&str> = request
        .input_data_config
        .iter()
        .flatten()
        .map(|c| c.channel_name.as_str())
        .collect();
    channels.sort_unstable();
    let channel_dirs: BTreeMap<&str, String> = channels
        .iter()
        .map(|name| (*name, path(&dirs.channel(name))))
        .collect();
    let num_cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let program = script.map(|s| s.program.clone()).unwrap_or_default();
    let module_name = program.strip_suffix(".py").unwrap_or(&program).to_owned();
    let module_dir = script
        .and_then(|s| s.submit_directory.clone())
        .unwrap_or_default();
    let user_args = user_args(hyperparameters);
    let resource_config = layout::resource_config(request);
    let input_data_config = layout::input_data_config(request);

    let training_env = json!({
        "additional_framework_parameters": {},
        "channel_input_dirs": channel_dirs,
        "current_host": HOST,
        "current_instance_type": layout::instance_type(request),
        "hosts": [HOST],
        "hyperparameters": decoded_hps,
        "input_config_dir": path(&dirs.config()),
        "input_data_config": input_data_config,
        "input_dir": path(&dirs.input()),
        "job_name": job_name,
        "log_level": 20,
        "model_dir": path(&dirs.model()),
        "module_dir": module_dir,
        "module_name": module_name,
        "network_interface_name": "eth0",
        "num_cpus": num_cpus,
        "num_gpus": 0,
        "output_data_dir": path(&dirs.output_data()),
        "output_dir": path(&dirs.output()),
        "output_intermediate_dir": path(&dirs.intermediate()),
        "resource_config": resource_config,
        "user_entry_point": program,
    });

    let mut env = vec![
        ("SM_MODEL_DIR".to_owned(), path(&dirs.model())),
        ("SM_INPUT_DIR".to_owned(), path(&dirs.input())),
        ("SM_INPUT_CONFIG_DIR".to_owned(), path(&dirs.config())),
        ("SM_OUTPUT_DIR".to_owned(), path(&dirs.output())),
        ("SM_OUTPUT_DATA_DIR".to_owned(), path(&dirs.output_data())),
        (
            "SM_OUTPUT_INTERMEDIATE_DIR".to_owned(),
            path(&dirs.intermediate()),
        ),
        ("SM_CHANNELS".to_owned(), json!(channels).to_string()),
        ("SM_HPS".to_owned(), json!(decoded_hps).to_string()),
        ("SM_HOSTS".to_owned(), json!([HOST]).to_string()),
        ("SM_CURRENT_HOST".to_owned(), HOST.to_owned()),
        (
            "SM_CURRENT_INSTANCE_TYPE".to_owned(),
            layout::instance_type(request),
        ),
        ("SM_NETWORK_INTERFACE_NAME".to_owned(), "eth0".to_owned()),
        ("SM_NUM_CPUS".to_owned(), num_cpus.to_string()),
        ("SM_NUM_GPUS".to_owned(), "0".to_owned()),
        ("SM_NUM_NEURONS".to_owned(), "0".to_owned()),
        ("SM_LOG_LEVEL".to_owned(), "20".to_owned()),
        ("SM_RESOURCE_CONFIG".to_owned(), resource_config.to_string()),
        (
            "SM_INPUT_DATA_CONFIG".to_owned(),
            input_data_config.to_string(),
        ),
        ("SM_FRAMEWORK_PARAMS".to_owned(), "{}".to_owned()),
        ("SM_USER_ENTRY_POINT".to_owned(), program),
        ("SM_MODULE_NAME".to_owned(), module_name),
        ("SM_MODULE_DIR".to_owned(), module_dir),
        ("SM_USER_ARGS".to_owned(), json!(user_args).to_string()),
        ("SM_TRAINING_ENV".to_owned(), training_env.to_string()),
        ("TRAINING_JOB_NAME".to_owned(), job_name.to_owned()),
        ("TRAINING_JOB_ARN".to_owned(), job_arn.to_owned()),
        // Framework images run Python unbuffered, so metrics reach the log as printed.
        ("PYTHONUNBUFFERED".to_owned(), "1".to_owned()),
    ];
    for (name, dir) in &channel_dirs {
        env.push((format!("SM_CHANNEL_{}", name.to_uppercase()), dir.clone()));
    }
    for (name, value) in &user {
        let value = match decoded(value) {
            Value::String(text) => text,
            other => other.to_string(),
        };
        env.push((format!("SM_HP_{}", name.to_uppercase()), value));
    }
    // The request's own Environment comes last, as SageMaker sets it in the container.
    for (name, value) in request.environment.iter().flatten() {
        env.push((name.clone(), value.clone()));
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(hps: Value) -> CreateTrainingJobRequest {
        serde_json::from_value(json!({
            "TrainingJobName": "j",
            "RoleArn": "arn:aws:iam::123456789012:role/R",
            "AlgorithmSpecification": {"TrainingImage": "img", "TrainingInputMode": "File"},
            "HyperParameters": hps,
            "InputDataConfig": [
                {"ChannelName": "train", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/t/"}}},
                {"ChannelName": "test", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/v/"}}}
            ],
            "OutputDataConfig": {"S3OutputPath": "s3://b/out"},
            "Environment": {"EXTRA": "1"}
        }))
        .unwrap()
    }

    fn sdk_style() -> CreateTrainingJobRequest {
        request(json!({
            "sagemaker_program": "\"train.py\"",
            "sagemaker_submit_directory": "\"s3://b/code.tar.gz\"",
            "max_depth": "5",
            "criterion": "\"gini\"",
            "layers": "[1, 2]"
        }))
    }

    #[test]
    fn script_mode_reads_plain_and_json_encoded_values() {
        let plain = request(json!({"sagemaker_program": "train.py"}));
        assert_eq!(
            script_mode(plain.hyper_parameters.as_ref().unwrap()),
            Some(ScriptMode {
                program: "train.py".into(),
                submit_directory: None
            })
        );
        let sdk = sdk_style();
        let script = script_mode(sdk.hyper_parameters.as_ref().unwrap()).unwrap();
        assert_eq!(script.program, "train.py");
        assert_eq!(
            script.submit_directory.as_deref(),
            Some("s3://b/code.tar.gz")
        );
        assert_eq!(script_mode(&HashMap::new()), None);
    }

    #[test]
    fn the_script_gets_its_hyperparameters_as_sorted_arguments() {
        let request = sdk_style();
        let dirs = JobDirs::new(Path::new("/w"), "j");
        let script = script_mode(request.hyper_parameters.as_ref().unwrap());
        let entry = Entrypoint {
            command: vec!["python3".into()],
            rule: None,
        };
        let run = invocation(&entry, script.as_ref(), &request, &dirs);
        assert_eq!(
            run.argv,
            [
                "python3",
                "train.py",
                "--criterion",
                "gini",
                "--layers",
                "[1, 2]",
                "--max_depth",
                "5"
            ]
        );
        assert_eq!(run.cwd, dirs.code());
    }

    #[test]
    fn other_images_run_train_in_opt_ml() {
        let request = request(json!({}));
        let dirs = JobDirs::new(Path::new("/w"), "j");
        let entry = Entrypoint {
            command: vec!["sh".into(), "{opt_ml}/code/train.sh".into()],
            rule: Some("*".into()),
        };
        let run = invocation(&entry, None, &request, &dirs);
        let opt_ml = dirs.ml().display().to_string();
        assert_eq!(
            run.argv,
            [
                "sh".to_owned(),
                format!("{opt_ml}/code/train.sh"),
                "train".into()
            ]
        );
        assert_eq!(run.cwd, dirs.ml());
    }

    #[test]
    fn the_environment_is_what_script_mode_reads() {
        let request = sdk_style();
        let dirs = JobDirs::new(Path::new("/w"), "j");
        let script = script_mode(request.hyper_parameters.as_ref().unwrap());
        let env: HashMap<String, String> =
            environment(&request, "j", "arn:j", &dirs, script.as_ref())
                .into_iter()
                .collect();
        assert_eq!(env["SM_MODEL_DIR"], dirs.model().display().to_string());
        assert_eq!(
            env["SM_CHANNEL_TRAIN"],
            dirs.channel("train").display().to_string()
        );
        assert_eq!(env["SM_CHANNELS"], r#"["test","train"]"#);
        assert_eq!(
            serde_json::from_str::<Value>(&env["SM_HPS"]).unwrap(),
            json!({"max_depth": 5, "criterion": "gini", "layers": [1, 2]})
        );
        assert_eq!(env["SM_HP_MAX_DEPTH"], "5");
        assert_eq!(env["SM_HP_CRITERION"], "gini");
        assert_eq!(env["SM_HP_LAYERS"], "[1,2]");
        assert!(!env.contains_key("SM_HP_SAGEMAKER_PROGRAM"));
        assert_eq!(env["SM_HOSTS"], r#"["algo-1"]"#);
        assert_eq!(env["SM_CURRENT_HOST"], "algo-1");
        assert_eq!(env["SM_MODULE_NAME"], "train");
        assert_eq!(env["SM_MODULE_DIR"], "s3://b/code.tar.gz");
        assert_eq!(env["TRAINING_JOB_NAME"], "j");
        assert_eq!(env["EXTRA"], "1");
        let training_env: Value = serde_json::from_str(&env["SM_TRAINING_ENV"]).unwrap();
        assert_eq!(training_env["hyperparameters"]["max_depth"], 5);
        assert!(env["SM_NUM_CPUS"].parse::<usize>().unwrap() >= 1);
    }
}
