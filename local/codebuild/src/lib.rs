//! A local CodeBuild: runs a buildspec.yml's phases in one shell with CodeBuild's variables and collects its exported variables.
