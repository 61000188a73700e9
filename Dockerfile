# Custos: multi-stage build, non-root, runs on a read-only root filesystem (docs/deploy.md).
# Build:  docker build -t custos .
# Run:    docker run --read-only --tmpfs /tmp -v custos-state:/var/lib/custos \
#           -v $PWD/custos.yaml:/etc/custos/custos.yaml:ro -v $PWD/policy:/etc/custos/bundle:ro custos

FROM node:20-bookworm-slim AS build
WORKDIR /src
# better-sqlite3 builds from source when no prebuilt binary fits.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# npm run build also compiles the SDK (the evidence pack runs its fail-closed check) and bundles the console.
COPY sdk ./sdk
COPY console ./console
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
# The SDK's fail-closed check, which `custos evidence` runs as a child process (src/evidence).
COPY --from=build /src/sdk/dist ./sdk/dist
COPY --from=build /src/sdk/package.json ./sdk/package.json
COPY package.json ./
COPY bin ./bin
# The only writable places: state (last good bundle, export cursors) and /tmp, mounted at run time.
RUN mkdir -p /var/lib/custos /etc/custos && chown node:node /var/lib/custos
USER node
EXPOSE 8080
ENTRYPOINT ["node", "/app/bin/custos.js"]
CMD ["serve", "--config", "/etc/custos/custos.yaml"]
