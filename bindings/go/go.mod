module github.com/artemis-in-c/artemis/bindings/go

go 1.19
