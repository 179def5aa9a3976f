# syntax=docker/dockerfile:1.7
# The orchestrator and worker images, built from this repository:
#   docker build --target orchestrator -t <registry>/<env-prefix>/orchestrator:<git sha> .
#   docker build --target worker       -t <registry>/<env-prefix>/worker:<git sha> .
# CI builds them in .github/workflows/release.yml and pushes them to the ECR repositories each environment's
# stack creates; `npm run test:images` builds both targets of this file and starts them (test/images/).
# Node 24 is the current LTS line; pin the base by digest in your registry's mirror for reproducible builds.
ARG NODE_IMAGE=node:24-bookworm-slim

# Build: compile src/ and services/ to JavaScript with the full toolchain.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY constructs/package.json constructs/
COPY evalctl/package.json evalctl/
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src src
COPY services services
RUN npx tsc -p tsconfig.build.json

# Production dependencies only: no dev tools, no optional chdb engine (the images talk to ClickHouse), and
# not the constructs workspace's (`--workspaces=false`: the services never import it).
FROM ${NODE_IMAGE} AS runtime-deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY constructs/package.json constructs/
COPY evalctl/package.json evalctl/
RUN npm ci --omit=dev --omit=optional --workspaces=false --ignore-scripts --no-audit --no-fund

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
