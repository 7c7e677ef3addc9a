module github.com/pico-hsm/pico-hsm/host

go 1.22
