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
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY bin ./bin
# The only writable places: state (last good bundle, export cursors) and /tmp, mounted at run time.
RUN mkdir -p /var/lib/custos /etc/custos && chown node:node /var/lib/custos
USER node
EXPOSE 8080
ENTRYPOINT ["node", "/app/bin/custos.js"]
CMD ["serve", "--config", "/etc/custos/custos.yaml"]
