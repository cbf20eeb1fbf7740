// Command sragent streams TPP SystmOne Strategic Reporting extracts into
// Kafka as Avro change events. See README.md and deploy/README.md.
//
// It is the only package that knows flags (cobra), configuration files and
// the environment (viper), HTTP, signals and the Windows service manager.
// It parses flags, decodes the configuration once into the library's
// types (config.go), opens the producer's Agent (publish.go) and renders
// what it reports: publish and run (publish.go, run.go), validate, the
// same pass as a dry run (validate.go), status, chain resume, the service
// commands (service*.go) and the embedded demo (demo.go, the only
// production file that uses kfake and srfake). Logging, log files,
// progress display and the metrics and health listener are here too.
package main
