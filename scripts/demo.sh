#!/usr/bin/env bash
# The main job on the embedded default: a simulated province, ingested, checked, classified.
set -euo pipefail
ENTITIES="${DEMO_ENTITIES:-20000}"
AS_OF="${DEMO_AS_OF:-2026-09-30}"
export RISKGRADE_HOME="${RISKGRADE_HOME:-demo/home}"
rm -rf demo
echo "== 1. simulate a province of ${ENTITIES} market entities (Shandong counties) =="
riskgrade simulate --entities "$ENTITIES" --seed 1 --out demo/delivery
echo "== 2. ingest the delivery (validate, attribute, de-duplicate, quarantine) =="
riskgrade ingest demo/delivery --report demo/ingest-report.json
echo "== 3. data quality (数据质量监测评估) =="
riskgrade quality --out demo/quality.html
riskgrade quality
echo "== 4. classify every active entity as of ${AS_OF} (信用风险分类) =="
riskgrade classify --as-of "$AS_OF"
riskgrade export grades --as-of "$AS_OF" --out demo/grades.csv
echo
echo "First graded entities (demo/grades.csv):"
python3 -c "import sys; [print(l.rstrip()[:120]) for l in open('demo/grades.csv', encoding='utf-8').readlines()[:6]]"
echo
echo "Open demo/quality.html for the quality report; demo/grades.csv holds every grade with its reasons and labels."
echo "(Inspection plans, warnings and the web console come with the next issues.)"
