//! A local CodePipeline: runs the pipeline of template.yaml (Source, Build, Lambda invoke actions with continuation tokens, variables) and serves the job-result and execution APIs.
