"""CMP's developer tools, never shipped to Lambda: the local stack and runner (`cmp_dev.local`), the
template gate (`cmp_dev.devtools`), the `cmp` command line (`cmp_dev.cli`) and the demo data
(`cmp_dev.seed`)."""
