# fcaudit in a container: a build stage with the full toolchain, a runtime stage with only the
# shared libraries the binary links. The proxy listens on all interfaces inside the container
# (publish it on 127.0.0.1 only); the CA lives in a volume so it survives new containers.
FROM debian:bookworm-slim AS build
WORKDIR /src
COPY tools/deps tools/deps
RUN tools/deps --build
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DFCA_TESTS=OFF \
 && cmake --build /build -j"$(nproc)" --target fcaudit \
 && cmake --install /build --prefix /opt/fcaudit --strip

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libevent-2.1-7 libevent-core-2.1-7 libevent-extra-2.1-7 libevent-pthreads-2.1-7 \
      libssl3 zlib1g libbrotli1 libzstd1 libjansson4 libpsl5 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --home-dir /home/fcaudit --uid 10001 --user-group fcaudit \
 && install -d -o fcaudit -g fcaudit -m 0700 /home/fcaudit/.fcaudit
COPY --from=build /opt/fcaudit/ /usr/local/
USER fcaudit
WORKDIR /home/fcaudit
ENV FCAUDIT_CA_DIR=/home/fcaudit/.fcaudit
VOLUME ["/home/fcaudit/.fcaudit"]
EXPOSE 8080
ENTRYPOINT ["fcaudit", "--listen", "0.0.0.0:8080", "--allow-remote"]
