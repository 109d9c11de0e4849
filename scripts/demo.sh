#!/usr/bin/env bash
# The main job on the embedded default: a simulated province, ingested, checked for quality.
set -euo pipefail
ENTITIES="${DEMO_ENTITIES:-20000}"
export RISKGRADE_HOME="${RISKGRADE_HOME:-demo/home}"
rm -rf demo
echo "== 1. simulate a province of ${ENTITIES} market entities (Shandong counties) =="
riskgrade simulate --entities "$ENTITIES" --seed 1 --out demo/delivery
echo "== 2. ingest the delivery (validate, attribute, de-duplicate, quarantine) =="
riskgrade ingest demo/delivery --report demo/ingest-report.json
echo "== 3. data quality (数据质量监测评估) =="
riskgrade quality --out demo/quality.html
riskgrade quality
echo "== 4. what the data home holds =="
riskgrade status
echo
echo "Open demo/quality.html in a browser for the full quality report."
