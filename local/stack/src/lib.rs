//! template.yaml as the local run reads it: parameters, conditions and intrinsic functions resolved; the pipeline, functions, build project and notify rule it defines.
