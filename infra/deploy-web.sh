#!/usr/bin/env bash
# Publishes the web app to a deployed stack (after `sam deploy`): reads the stack's outputs,
# writes the config.json the app reads at start (the API and the Cognito sign-in), uploads
# web/ to the site bucket with its cache headers, and invalidates the CloudFront distribution.
#
#   bash infra/deploy-web.sh [--config-env dev|prod] [--stack-name NAME] [--region REGION] [--web-dir DIR]
#
# The stack name and region default to those of --config-env (dev) in samconfig.toml, as
# `sam deploy --config-env` used them. Needs the AWS CLI and credentials that may read the
# stack, write the site bucket and create invalidations. README "The web app in AWS".
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

die() {
  echo "error: $*" >&2
  exit 1
}

usage() {
  echo "usage: bash infra/deploy-web.sh [--config-env dev|prod] [--stack-name NAME] [--region REGION] [--web-dir DIR]"
}

config_env=dev
stack=
region=
web_dir=$root/web
while [ $# -gt 0 ]; do
  case "$1" in
    --config-env | --stack-name | --region | --web-dir)
      [ $# -ge 2 ] || die "$1 needs a value"
      case "$1" in
        --config-env) config_env=$2 ;;
        --stack-name) stack=$2 ;;
        --region) region=$2 ;;
        --web-dir) web_dir=$2 ;;
      esac
      shift 2
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      usage >&2
      die "unknown argument '$1'"
      ;;
  esac
done

# A value of [<env>.deploy.parameters] in samconfig.toml (`key = "value"` lines).
samconfig() {
  awk -v section="[$config_env.deploy.parameters]" -v key="$1" '
    /^\[/ { inside = ($0 == section) }
    inside && $1 == key {
      value = $0
      sub(/^[^=]*=[ \t]*/, "", value)
      gsub(/^"|"$/, "", value)
      print value
      exit
    }' "$root/samconfig.toml"
}
stack=${stack:-$(samconfig stack_name)}
region=${region:-$(samconfig region)}
[ -n "$stack" ] || die "no stack name: pass --stack-name, or a --config-env that samconfig.toml defines"

command -v aws >/dev/null 2>&1 || die "the AWS CLI (aws) is required: https://aws.amazon.com/cli/"
[ -f "$web_dir/index.html" ] || die "$web_dir/index.html not found: --web-dir names the folder of the web app"

# Global options last: `aws <service> <command> ... --region R`.
aws_() {
  if [ -n "$region" ]; then aws "$@" --region "$region"; else aws "$@"; fi
}

echo "reading the outputs of stack $stack${region:+ ($region)} ..."
outputs=$(aws_ cloudformation describe-stacks --stack-name "$stack" \
  --query 'Stacks[0].Outputs[].[OutputKey,OutputValue]' --output text) ||
  die "cannot read stack $stack${region:+ in $region}: deploy it first (sam deploy --config-env $config_env)"

# An output of the stack, checked to be a plain URL or identifier: the values go into JSON
# and onto the command line as they are.
output() {
  local value
  value=$(printf '%s\n' "$outputs" | awk -F '\t' -v key="$1" '$1 == key { print $2; exit }')
  [ -n "$value" ] || die "stack $stack has no output $1: deploy the current infra/template.yaml first (sam deploy)"
  [[ $value =~ ^[A-Za-z0-9._:/-]+$ ]] || die "stack $stack: output $1 is not a plain URL or identifier: '$value'"
  printf '%s' "$value"
}
api=$(output ApiUrl)
site=$(output SiteUrl)
bucket=$(output SiteBucketName)
distribution=$(output SiteDistributionId)
cognito_domain=$(output CognitoDomain)
client_id=$(output WebUserPoolClientId)

config=$(mktemp)
trap 'rm -f "$config"' EXIT
cat >"$config" <<JSON
{
  "sign_in": "cognito",
  "api": "${api%/}",
  "cognito": {
    "domain": "${cognito_domain%/}",
    "client_id": "$client_id",
    "redirect_uri": "$site",
    "logout_uri": "$site"
  }
}
JSON

# The layout `brokeros serve` answers (cli/src/web.rs): web/index.html at /, every other file
# of web/ under /ui/, and the config at /config.json. index.html and config.json are read anew
# on every load (no-cache); the modules, whose names carry no content hash, are revalidated by
# browsers on every load and kept at the edge until the invalidation below.
entry_cache="no-cache"
module_cache="public, max-age=0, must-revalidate, s-maxage=31536000"
# Not the app: the page (uploaded at /), a config.json of a local copy, dotfiles (editors'), the
# type checker's settings and the declarations it reads (tsc only, never loaded by browsers).
modules=(--exclude index.html --exclude config.json --exclude '.*' --exclude '*/.*' --exclude jsconfig.json --exclude '*.d.ts')

# Order: the modules first, then the index.html that imports them and the config.json it
# reads; files no longer in web/ are removed last, so a page loaded meanwhile finds them.
echo "uploading $web_dir to s3://$bucket ..."
aws_ s3 sync "$web_dir/" "s3://$bucket/ui/" "${modules[@]}" \
  --cache-control "$module_cache" --no-progress
aws_ s3 cp "$web_dir/index.html" "s3://$bucket/index.html" \
  --cache-control "$entry_cache" --content-type "text/html; charset=utf-8" --no-progress
aws_ s3 cp "$config" "s3://$bucket/config.json" \
  --cache-control "$entry_cache" --content-type "application/json" --no-progress
aws_ s3 sync "$web_dir/" "s3://$bucket/ui/" "${modules[@]}" \
  --cache-control "$module_cache" --delete --no-progress

invalidation=$(aws_ cloudfront create-invalidation --distribution-id "$distribution" \
  --paths '/*' --query Invalidation.Id --output text)
echo "CloudFront invalidation $invalidation of $distribution started (a minute or two)."
echo "The web app: $site"
