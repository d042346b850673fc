//! The integration tests: one binary (linked once), a module per capability; helpers in
//! `common`, namespace and daemon start-up scripts in `tests/testbed/`.

mod audit;
mod bacnet;
mod cli_errors;
mod common;
mod corpus;
mod detection;
mod fingerprints_cli;
mod hostile_servers;
mod html_report;
mod nc_habits;
mod nmap_compat;
mod outputs;
mod port_knowledge;
mod properties;
mod proxy_scan;
mod resource_limits;
mod score;
mod seed_scenario;
mod session;
mod shards;
mod syn_scan;
mod testbed_apps;
mod testbed_binary;
mod testbed_daemons;
mod testbed_datastores;
mod testbed_enterprise;
mod testbed_field;
mod testbed_industrial;
mod testbed_mailweb;
mod testbed_misc;
mod testbed_netops;
mod testbed_services;
mod testbed_storage;
mod tls;
mod udp;
