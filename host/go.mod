module github.com/pico-hsm/pico-hsm/host

go 1.22

require golang.org/x/crypto v0.33.0
