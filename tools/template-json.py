"""Prints a CloudFormation/SAM template (YAML or JSON) as plain JSON, read by cfn-lint's own
decoder, so short-form tags become their long forms (`!GetAtt X.Arn` → {"Fn::GetAtt": ["X",
"Arn"]}, `!Ref X` → {"Ref": "X"}). The consistency tests (tests/infra) read this JSON.

    .tools/deploy-venv/bin/python tools/template-json.py infra/template.yaml
"""

import json
import sys

from cfnlint.decode import decode

if len(sys.argv) != 2:
    sys.exit("usage: template-json.py TEMPLATE")
template, errors = decode(sys.argv[1])
if errors or template is None:
    for error in errors or []:
        print(f"{sys.argv[1]}: {error}", file=sys.stderr)
    sys.exit(1)
json.dump(template, sys.stdout, indent=1, sort_keys=True)
print()
