//! The template's `AWS::CloudWatch::Alarm` resources as PutMetricAlarm requests for the local
//! CloudWatch (moto), so that the Deploy actions find the rollback alarms they name.

use aws_sdk_cloudwatch::operation::put_metric_alarm::builders::PutMetricAlarmFluentBuilder;
use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, Statistic};
use local_stack::MetricAlarm;
use serde_json::Value;

/// A number as the template gives it: a JSON number, or a string (a `!Ref` to a parameter).
fn number(properties: &serde_json::Map<String, Value>, key: &str) -> Result<Option<f64>, String> {
    match properties.get(key) {
        None => Ok(None),
        Some(Value::Number(n)) => Ok(n.as_f64()),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| format!("{key} `{s}` is not a number")),
        Some(other) => Err(format!("{key} {other} is not a number")),
    }
}

fn text<'a>(properties: &'a serde_json::Map<String, Value>, key: &str) -> Option<&'a str> {
    properties.get(key).and_then(Value::as_str)
}

/// Whole numbers (Period, EvaluationPeriods) must fit an i32.
fn whole(value: Option<f64>, key: &str) -> Result<Option<i32>, String> {
    value
        .map(|v| {
            if v.fract() == 0.0 && v >= 0.0 && v <= f64::from(i32::MAX) {
                Ok(v as i32)
            } else {
                Err(format!("{key} {v} is not a whole number"))
            }
        })
        .transpose()
}

pub fn put_metric_alarm(
    client: &aws_sdk_cloudwatch::Client,
    alarm: &MetricAlarm,
) -> Result<PutMetricAlarmFluentBuilder, String> {
    let p = &alarm.properties;
    let mut dimensions = Vec::new();
    for d in p
        .get("Dimensions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        dimensions.push(
            Dimension::builder()
                .set_name(d.get("Name").and_then(Value::as_str).map(str::to_owned))
                .set_value(d.get("Value").and_then(Value::as_str).map(str::to_owned))
                .build(),
        );
    }
    Ok(client
        .put_metric_alarm()
        .alarm_name(&alarm.name)
        .set_alarm_description(text(p, "AlarmDescription").map(str::to_owned))
        .set_namespace(text(p, "Namespace").map(str::to_owned))
        .set_metric_name(text(p, "MetricName").map(str::to_owned))
        .set_dimensions(Some(dimensions))
        .set_statistic(text(p, "Statistic").map(Statistic::from))
        .set_period(whole(number(p, "Period")?, "Period")?)
        .set_evaluation_periods(whole(number(p, "EvaluationPeriods")?, "EvaluationPeriods")?)
        .set_datapoints_to_alarm(whole(number(p, "DatapointsToAlarm")?, "DatapointsToAlarm")?)
        .set_threshold(number(p, "Threshold")?)
        .set_comparison_operator(text(p, "ComparisonOperator").map(ComparisonOperator::from))
        .set_treat_missing_data(text(p, "TreatMissingData").map(str::to_owned)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_come_as_numbers_or_parameter_strings() {
        let p: serde_json::Map<String, Value> = serde_json::from_value(
            serde_json::json!({"Period": 60, "Threshold": "0.5", "Bad": "x"}),
        )
        .unwrap();
        assert_eq!(number(&p, "Period"), Ok(Some(60.0)));
        assert_eq!(number(&p, "Threshold"), Ok(Some(0.5)));
        assert_eq!(number(&p, "Missing"), Ok(None));
        assert!(number(&p, "Bad").is_err());
        assert_eq!(whole(Some(60.0), "Period"), Ok(Some(60)));
        assert!(whole(Some(1.5), "Period").is_err());
    }
}
