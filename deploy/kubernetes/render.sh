#!/usr/bin/env bash
# render.sh [DIR]: prints the kustomization DIR (default deploy/kubernetes) and, when IMAGE is set
# (REGISTRY/NAME:TAG or REGISTRY/NAME@sha256:...), with that image in place of the one DIR names
# (`make manifest`). Through a throwaway overlay beside the build outputs: kustomize accepts only
# relative bases, and kustomize v2.0.3 (Debian 12's kubectl) only as `bases:`.
set -euo pipefail
dir=${1:-deploy/kubernetes}
[ -f "$dir/kustomization.yaml" ] || { echo "render: $dir has no kustomization.yaml" >&2; exit 1; }
command -v kubectl >/dev/null || { echo "render: kubectl not found (Debian: kubernetes-client)" >&2; exit 1; }

mkdir -p build
overlay=$(mktemp -d build/manifest.XXXXXX)
trap 'rm -rf "$overlay"' EXIT
base=$(realpath --relative-to="$overlay" "$dir")

# The image name as DIR renders it (after its own images: entry), without tag or digest.
current=$(kubectl kustomize "$dir" 2>/dev/null | awk '$1 == "image:" || $2 == "image:" { print $NF; exit }')
current=${current%@*}
[[ ${current##*/} == *:* ]] && current=${current%:*}

{
	echo "apiVersion: kustomize.config.k8s.io/v1beta1"
	echo "kind: Kustomization"
	echo "bases: [$base]"
	if [ -n "${IMAGE:-}" ]; then
		name=$IMAGE tag="" digest=""
		if [[ $IMAGE == *@* ]]; then
			name=${IMAGE%@*} digest=${IMAGE#*@}
		elif [[ ${IMAGE##*/} == *:* ]]; then
			name=${IMAGE%:*} tag=${IMAGE##*:}
		fi
		echo "images:"
		echo "  - name: $current"
		echo "    newName: $name"
		[ -z "$tag" ] || echo "    newTag: \"$tag\""
		[ -z "$digest" ] || echo "    digest: $digest"
	fi
} >"$overlay/kustomization.yaml"
kubectl kustomize "$overlay" 2> >(grep -v "is deprecated" >&2)
