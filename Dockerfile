# Gatehouse server image. Build: docker build -t gatehouse .
FROM node:20-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json tsconfig.base.json ./
COPY packages/server/package.json packages/server/
COPY packages/authenticator/package.json packages/authenticator/
COPY sandbox/package.json sandbox/
RUN npm ci --omit=dev --no-audit --no-fund
COPY packages/server packages/server
# the server bundles the browser authenticator (esbuild) on the first GET /sdk/authenticator.js
COPY packages/authenticator packages/authenticator

FROM node:20-bookworm-slim
ENV NODE_ENV=production PORT=4000 HOST=0.0.0.0
WORKDIR /app
COPY --from=build /app /app
USER node
EXPOSE 4000
HEALTHCHECK --interval=30s --timeout=5s CMD node -e "fetch('http://127.0.0.1:'+process.env.PORT+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "--max-semi-space-size=8", "packages/server/bin/gatehouse.js", "serve"]
