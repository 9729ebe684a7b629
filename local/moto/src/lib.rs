//! Starts the project's pinned moto server on a free loopback port and stops it with its owner.
