# syntax=docker/dockerfile:1
#
# tokenhook's container image: a static binary on distroless, as the non-root
# user 65532. deploy/README.md has the build and run commands.
#
#   docker build -t tokenhook .
#   docker run --rm tokenhook version

FROM golang:1.27-bookworm AS build
# --build-arg GOFLAGS=-buildvcs=false where .git cannot be read (a git
# worktree): the version then reads "devel".
ARG GOFLAGS=""
WORKDIR /src
# The dependencies first, so that a source change does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
# The work tree, .git included: the go command stamps the commit into the
# binary (tokenhook version). .dockerignore leaves out only untracked files,
# so the build is not marked +dirty.
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/tokenhook ./cmd/tokenhook \
    && /out/tokenhook version \
    && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/tokenhook /tokenhook
# The SQLite store's directory, owned by the non-root user: mount a volume on
# it (the root file system can then be read-only), or use PostgreSQL.
COPY --from=build --chown=65532:65532 /out/data /var/lib/tokenhook
WORKDIR /var/lib/tokenhook
ENV TOKENHOOK_STORE=sqlite:/var/lib/tokenhook/tokenhook.db
USER 65532:65532
# 8082: the hook (server.listen); 9464: metrics, /healthz and /readyz
# (TOKENHOOK_METRICS_LISTEN).
EXPOSE 8082 9464
ENTRYPOINT ["/tokenhook"]
CMD ["serve"]
