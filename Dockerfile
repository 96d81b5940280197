# Marina: a Bun-native OCI registry. The Bun runtime comes from npm (the `bun` package), so the image needs Node.js only to install.
FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund && npm cache clean --force

FROM debian:bookworm-slim
WORKDIR /app
RUN useradd --system --uid 10001 --home-dir /var/lib/marina marina && mkdir -p /var/lib/marina && chown marina /var/lib/marina
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json bunfig.toml ./
COPY src ./src
COPY bin ./bin
USER marina
ENV MARINA_HOST=0.0.0.0 MARINA_PORT=5000 MARINA_DATA=/var/lib/marina MARINA_LOG_FORMAT=json MARINA_ACCESS_LOG=true
VOLUME /var/lib/marina
EXPOSE 5000
# The image has no curl: Bun itself asks /healthz on 127.0.0.1:MARINA_PORT (keep MARINA_HOST at 0.0.0.0), over HTTPS
# when MARINA_TLS_CERT is set (the certificate names the public host, so it is not verified for this local probe).
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/app/node_modules/.bin/bun", "-e", "const e=process.env;fetch((e.MARINA_TLS_CERT?'https':'http')+'://127.0.0.1:'+(e.MARINA_PORT||5000)+'/healthz',{signal:AbortSignal.timeout(4000),tls:{rejectUnauthorized:false}}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/app/node_modules/.bin/bun", "src/cli/main.ts"]
CMD ["serve"]
