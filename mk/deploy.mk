# The container image and the Kubernetes manifests (deploy/; docs/kubernetes.md). Included by the
# Makefile (-include mk/*.mk).
#   make image                 build IMAGE (default localhost/palisade:VERSION) from source (deploy/container/build-image.sh)
#   make test-image            the built image runs palisaded --version and polctl version
#   make manifest IMAGE=R/N:T  deploy/kubernetes (or MANIFEST_DIR) rendered with that image, to stdout
#   make test-manifests        every manifest and rendering passes kubectl apply --dry-run=client
#                              against the replay API server (tests/k8s/), and says what it must
IMAGE_NAME      ?= localhost/palisade
IMAGE           ?= $(IMAGE_NAME):$(VERSION)
BASE_IMAGE      ?= docker.io/library/debian:bookworm-slim
IMAGE_TOOL      ?= buildah
IMAGE_ISOLATION ?= chroot
MANIFEST_DIR    ?= deploy/kubernetes

.PHONY: image image-deps test-image manifest test-manifests

image-deps: ## install buildah and debootstrap, which `make image` uses (Debian 12, root)
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends buildah debootstrap

image: ## build the container image IMAGE (default localhost/palisade:VERSION) from source
	IMAGE=$(IMAGE) BASE_IMAGE=$(BASE_IMAGE) IMAGE_TOOL=$(IMAGE_TOOL) \
	  IMAGE_ISOLATION=$(IMAGE_ISOLATION) deploy/container/build-image.sh

test-image: ## the image IMAGE runs palisaded --version and polctl (after make image)
	IMAGE=$(IMAGE) VERSION=$(VERSION) IMAGE_TOOL=$(IMAGE_TOOL) \
	  IMAGE_ISOLATION=$(IMAGE_ISOLATION) tests/image/test_image.sh

manifest: ## print deploy/kubernetes with image IMAGE (kubectl kustomize)
	@IMAGE=$(IMAGE) deploy/kubernetes/render.sh $(MANIFEST_DIR)

test-manifests: ## deploy/kubernetes: kubectl apply --dry-run=client against the replay API server
	VERSION=$(VERSION) tests/deploy/test_manifests.sh
