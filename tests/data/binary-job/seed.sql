INSERT INTO audit (entry) VALUES ('stack created');
