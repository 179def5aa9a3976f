# syntax=docker/dockerfile:1.7
# The orchestrator and worker images, built from this repository:
#   docker build --target orchestrator -t <registry>/ai-eval/orchestrator:<version> .
#   docker build --target worker       -t <registry>/ai-eval/worker:<version> .
# The repositories and tags are configuration of the constructs (synth/environments/*.ts, `images`).
# Node 24 is the current LTS line; pin the base by digest in your registry's mirror for reproducible builds.
ARG NODE_IMAGE=node:24-bookworm-slim

# Build: compile src/ and services/ to JavaScript with the full toolchain.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY constructs/package.json constructs/
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src src
COPY services services
RUN npx tsc -p tsconfig.build.json

# Production dependencies only: no dev tools, and no optional chdb engine (the images talk to ClickHouse).
FROM ${NODE_IMAGE} AS runtime-deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY constructs/package.json constructs/
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=runtime-deps --chown=root:root /app/node_modules node_modules
COPY --from=build --chown=root:root /app/build build
COPY --chown=root:root package.json ./
# A non-root user (the uid the Deployments set, 10001); they also mount the root filesystem read-only, and
# nothing here writes to it.
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["node", "--enable-source-maps", "build/services/entry.js"]

FROM runtime AS orchestrator
CMD ["serve"]

FROM runtime AS worker
CMD ["work"]
