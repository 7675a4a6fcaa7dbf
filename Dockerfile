# The hub: one image, several roles (serve, worker, demo, migrate) chosen by the command.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY connectors ./connectors
COPY mappings ./mappings
COPY bench ./bench
COPY schema ./schema
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production PORT=4000
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/package.json ./
COPY mappings ./mappings
COPY schema ./schema
# The demo writes its generated connector config (junction.demo.yaml) into the working directory.
RUN chown node:node /app
EXPOSE 4000
USER node
ENTRYPOINT ["node", "dist/src/cli/main.js"]
CMD ["serve"]
