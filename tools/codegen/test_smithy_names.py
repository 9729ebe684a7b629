"""Names the SDK really uses (aws-sdk-sagemaker 1.248), including the odd ones.

Run: python3 -m unittest discover -s tools/codegen
"""

import unittest

from smithy_names import field_name, pascal_case, setter_name, snake_case


class SnakeCase(unittest.TestCase):
    def test_names_taken_from_the_sdk(self):
        cases = {
            "TrainingJobName": "training_job_name",
            "S3Uri": "s3_uri",
            "S3DataSource": "s3_data_source",
            "VolumeSizeInGB": "volume_size_in_gb",
            "MaxPayloadInMB": "max_payload_in_mb",
            "AutoMLJobInputDataConfig": "auto_ml_job_input_data_config",
            "AIBenchmarkJobArn": "ai_benchmark_job_arn",
            "ContentSha256": "content_sha256",
            "EMRServerless": "emr_serverless",
            "FSxLustreDeletionPolicy": "f_sx_lustre_deletion_policy",
            "ProjectS3Path": "project_s3_path",
            "VCpu": "v_cpu",
            "EnableInterContainerTrafficEncryption": "enable_inter_container_traffic_encryption",
            "KmsKeyId": "kms_key_id",
            "ResponseMIMETypes": "response_mime_types",
        }
        for name, expected in cases.items():
            with self.subTest(name=name):
                self.assertEqual(snake_case(name), expected)

    def test_keywords_become_raw_fields_with_plain_setters(self):
        self.assertEqual(field_name("Type"), "r#type")
        self.assertEqual(setter_name("Type"), "set_type")

    def test_type_names(self):
        self.assertEqual(pascal_case("AutoMLCandidate"), "AutoMlCandidate")
        self.assertEqual(pascal_case("S3DataSource"), "S3DataSource")
        self.assertEqual(pascal_case("MlflowConfig"), "MlflowConfig")


if __name__ == "__main__":
    unittest.main()
